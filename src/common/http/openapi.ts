export const BEARER_SCHEME = 'bearer';
export const COOKIE_SCHEME = 'cookie';
