import type { AuthConfig } from '../config';
import { makeAuthConfig } from '../config/testing/auth-config.fixture';
import { TokenCrypto } from '../crypto/token-crypto.service';
import { RefreshTokenCodec } from './refresh-token.codec';

function authConfig(refreshTokenSecret: string): AuthConfig {
  return makeAuthConfig({ refreshTokenSecret });
}

const SESSION_ID = '6650f0c2a1b2c3d4e5f60719';
const OTHER_SESSION_ID = '6650f0c2a1b2c3d4e5f6071a';

/** Replaces the character at `index` with a different one of the same alphabet. */
function flipCharAt(text: string, index: number): string {
  const replacement = text[index] === 'A' ? 'B' : 'A';
  return `${text.slice(0, index)}${replacement}${text.slice(index + 1)}`;
}

describe(RefreshTokenCodec.name, () => {
  let sut: RefreshTokenCodec;

  beforeEach(() => {
    sut = new RefreshTokenCodec(new TokenCrypto(), authConfig('refresh-Secret-9876543210-zyxwvutsrqponmlkjihgf'));
  });

  it('decodes an encoded token back to its session and generation', () => {
    expect(sut.decode(sut.encode(SESSION_ID, 7))).toEqual({ sessionId: SESSION_ID, generation: 7 });
  });

  it('decodes generation 0, the one a new session starts with', () => {
    expect(sut.decode(sut.encode(SESSION_ID, 0))).toEqual({ sessionId: SESSION_ID, generation: 0 });
  });

  it('encodes deterministically for the same session and generation', () => {
    expect(sut.encode(SESSION_ID, 3)).toBe(sut.encode(SESSION_ID, 3));
  });

  it('encodes a different token, with a different MAC, for the next generation', () => {
    const current = sut.encode(SESSION_ID, 3).split('.');
    const next = sut.encode(SESSION_ID, 4).split('.');

    expect(next[1]).toBe('4');
    expect(next[2]).not.toBe(current[2]);
  });

  it('refuses a token whose MAC has one character changed', () => {
    const token = sut.encode(SESSION_ID, 2);
    const macStart = token.lastIndexOf('.') + 1;

    expect(sut.decode(flipCharAt(token, macStart + 10))).toBeNull();
    expect(sut.decode(flipCharAt(token, macStart))).toBeNull();
  });

  it('refuses a token whose generation was changed but whose MAC was kept', () => {
    const [sessionId, , mac] = sut.encode(SESSION_ID, 2).split('.');

    expect(sut.decode(`${sessionId}.3.${mac}`)).toBeNull();
    expect(sut.decode(`${sessionId}.1.${mac}`)).toBeNull();
  });

  it('refuses a token whose session id was changed but whose MAC was kept', () => {
    const [, generation, mac] = sut.encode(SESSION_ID, 2).split('.');

    expect(sut.decode(`${OTHER_SESSION_ID}.${generation}.${mac}`)).toBeNull();
  });

  it('refuses a token minted with another secret', () => {
    const foreign = new RefreshTokenCodec(new TokenCrypto(), authConfig('another-Secret-0123456789-ABCDEFGHIJKLMNOP'));

    expect(sut.decode(foreign.encode(SESSION_ID, 0))).toBeNull();
  });

  it('refuses a token that spells the generation differently from the one minted (leading zero)', () => {
    const [sessionId, , mac] = sut.encode(SESSION_ID, 5).split('.');

    // Same MAC input after Number(): only the exact minted string may be accepted.
    expect(sut.decode(`${sessionId}.05.${mac}`)).toBeNull();
  });

  it.each([
    ['an operator object', { $ne: null }],
    ['a number', 42],
    ['null', null],
    ['undefined', undefined],
  ])('refuses %s', (_label, value) => {
    expect(sut.decode(value)).toBeNull();
  });

  it('refuses an array, even one holding a valid token', () => {
    expect(sut.decode([sut.encode(SESSION_ID, 0)])).toBeNull();
  });

  it('refuses a JWT-shaped string', () => {
    const jwtShaped =
      'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI2NjUwZjBjMmExYjJjM2Q0ZTVmNjA3MTkifQ.' +
      'c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmUtMDEy';

    expect(sut.decode(jwtShaped)).toBeNull();
  });

  it('refuses over-long strings, including a valid token with trailing data', () => {
    const token = sut.encode(SESSION_ID, 1);

    expect(sut.decode(`${token}${'A'.repeat(10_000)}`)).toBeNull();
    expect(sut.decode('a'.repeat(100_000))).toBeNull();
    expect(sut.decode(`${SESSION_ID}.1234567890.${token.split('.')[2]}`)).toBeNull();
  });

  it('refuses a token surrounded by whitespace or with an upper-case session id', () => {
    const token = sut.encode(SESSION_ID, 1);

    expect(sut.decode(` ${token}`)).toBeNull();
    expect(sut.decode(`${token}\n`)).toBeNull();
    expect(sut.decode(token.replace(SESSION_ID, SESSION_ID.toUpperCase()))).toBeNull();
  });

  it('hashes a token deterministically to a value that is not the token', () => {
    const token = sut.encode(SESSION_ID, 1);

    expect(sut.hash(token)).toBe(sut.hash(token));
    expect(sut.hash(token)).not.toContain(token.split('.')[2]);
    expect(sut.hash(token)).not.toBe(sut.hash(sut.encode(SESSION_ID, 2)));
  });
});
