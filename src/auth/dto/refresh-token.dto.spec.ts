import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { RefreshTokenDto } from './refresh-token.dto';

const TOKEN = '6650f0c2a1b2c3d4e5f60719.0.5m0k1Zr3rJ0b3kq3bq8dX1sQdC0bQk9nq5m6cJ3l2xE';

/** The properties the global ValidationPipe would refuse in this body. */
async function refusedProperties(body: Record<string, unknown>): Promise<string[]> {
  const instance = plainToInstance(RefreshTokenDto, body);
  const errors = await validate(instance, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true });
  return errors.map((error) => error.property).sort();
}

describe(RefreshTokenDto.name, () => {
  it('accepts an empty body, for a refresh token sent in the cookie', async () => {
    await expect(refusedProperties({})).resolves.toEqual([]);
  });

  it('accepts a refresh token string', async () => {
    await expect(refusedProperties({ refreshToken: TOKEN })).resolves.toEqual([]);
  });

  it('accepts 512 characters and refuses 513', async () => {
    await expect(refusedProperties({ refreshToken: 'a'.repeat(512) })).resolves.toEqual([]);
    await expect(refusedProperties({ refreshToken: 'a'.repeat(513) })).resolves.toEqual(['refreshToken']);
  });

  it.each([
    ['an operator object', { $ne: null }],
    ['an array', [TOKEN]],
    ['a number', 42],
    ['a boolean', true],
  ])('refuses %s in place of the string', async (_label, refreshToken) => {
    await expect(refusedProperties({ refreshToken })).resolves.toEqual(['refreshToken']);
  });

  it('refuses an unknown property', async () => {
    await expect(refusedProperties({ refreshToken: TOKEN, accessToken: 'x' })).resolves.toEqual(['accessToken']);
  });
});
