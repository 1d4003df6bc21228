/**
 * The fixed one-`ttlMs` window `now` falls in (windows are aligned on the epoch, so every instance
 * counts in the same one), and the whole seconds left in it, at least 1 (a Retry-After).
 */
export function fixedWindow(now: number, ttlMs: number): { number: number; secondsLeft: number } {
  const number = Math.floor(now / ttlMs);
  return { number, secondsLeft: Math.max(1, Math.ceil(((number + 1) * ttlMs - now) / 1000)) };
}
