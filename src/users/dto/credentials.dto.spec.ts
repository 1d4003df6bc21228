import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { CredentialsDto } from './credentials.dto';

const VALID = { username: 'alice', password: 'correct horse' };

/** The properties the global ValidationPipe would refuse in this body. */
async function refusedProperties(body: Record<string, unknown>): Promise<string[]> {
  const instance = plainToInstance(CredentialsDto, body);
  const errors = await validate(instance, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true });
  return errors.map((error) => error.property).sort();
}

describe(CredentialsDto.name, () => {
  it('accepts a valid body', async () => {
    await expect(refusedProperties(VALID)).resolves.toEqual([]);
  });

  it.each(['abc', 'a'.repeat(32), 'Al_ice.B-9', '___', '...', '007'])('accepts the username %j', async (username) => {
    await expect(refusedProperties({ ...VALID, username })).resolves.toEqual([]);
  });

  it.each([
    ['2 characters', 'ab'],
    ['33 characters', 'a'.repeat(33)],
    ['empty', ''],
    ['a space', 'al ice'],
    ['an exclamation mark', 'alice!'],
    ['a slash', 'ali/ce'],
    ['an accented letter', 'álice'],
    ['a trailing newline', 'alice\n'],
    ['markup', '<script>'],
    ['a dollar operator', '$where'],
  ])('refuses a username with %s', async (_label, username) => {
    await expect(refusedProperties({ ...VALID, username })).resolves.toEqual(['username']);
  });

  it.each([
    ['8 characters', 'p'.repeat(8)],
    ['128 characters', 'p'.repeat(128)],
    ['spaces and symbols', '  $ne: null  '],
    ['non-ASCII letters', 'pässwörd-çà'],
  ])('accepts a password of %s', async (_label, password) => {
    await expect(refusedProperties({ ...VALID, password })).resolves.toEqual([]);
  });

  it.each([
    ['7 characters', 'p'.repeat(7)],
    ['129 characters', 'p'.repeat(129)],
    ['no characters', ''],
  ])('refuses a password of %s', async (_label, password) => {
    await expect(refusedProperties({ ...VALID, password })).resolves.toEqual(['password']);
  });

  it.each([
    ['an operator object', { $ne: null }],
    ['an array', ['alice']],
    ['a number', 12345678],
    ['a boolean', true],
    ['null', null],
  ])('refuses %s in place of either string', async (_label, value) => {
    await expect(refusedProperties({ username: value, password: value })).resolves.toEqual(['password', 'username']);
  });

  it('refuses a body missing both properties', async () => {
    await expect(refusedProperties({})).resolves.toEqual(['password', 'username']);
  });

  it('refuses an unknown property such as roles', async () => {
    await expect(refusedProperties({ ...VALID, roles: ['admin'] })).resolves.toEqual(['roles']);
  });
});
