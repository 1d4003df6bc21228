import { SetMetadata } from '@nestjs/common';

export const FORWARD_AUTH_KEY = 'auth:forward-auth';

/**
 * Marks a route that reverse proxies call to authorize someone else's request (nginx auth_request,
 * Caddy forward_auth, Traefik ForwardAuth). They call it with GET whatever the original method was, and
 * say that method in X-Forwarded-Method or X-Original-Method: the CSRF policy judges that one.
 */
export const ForwardAuth = () => SetMetadata(FORWARD_AUTH_KEY, true);
