import type { HelmetOptions } from 'helmet';

/**
 * Helmet's defaults (on Express through helmet, on Fastify through @fastify/helmet, which wraps it),
 * except upgrade-insecure-requests: it would make the explorer at /docs load its scripts over https://
 * when the service is reached over plain http (development, a private network).
 */
export const HELMET_OPTIONS: HelmetOptions = {
  contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } },
};
