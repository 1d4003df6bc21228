import { toSessionResponse } from './session-response.dto';

const SESSION_ID = '6650f0c2a1b2c3d4e5f60719';

describe(toSessionResponse.name, () => {
  it('answers exactly the listed fields, with the id and the dates as strings', () => {
    const session = {
      id: SESSION_ID,
      createdAt: new Date('2030-01-01T00:00:00.000Z'),
      lastUsedAt: new Date('2030-01-01T00:45:00.000Z'),
      userAgent: 'curl/8.5.0',
      ip: '198.51.100.4',
    };

    expect(toSessionResponse({ session, current: true })).toStrictEqual({
      id: SESSION_ID,
      createdAt: '2030-01-01T00:00:00.000Z',
      lastUsedAt: '2030-01-01T00:45:00.000Z',
      userAgent: 'curl/8.5.0',
      ip: '198.51.100.4',
      current: true,
    });
  });

  it('keeps an unknown user agent and address as null', () => {
    const at = new Date('2030-01-01T00:00:00.000Z');

    expect(
      toSessionResponse({
        session: { id: SESSION_ID, createdAt: at, lastUsedAt: at, userAgent: null, ip: null },
        current: false,
      }),
    ).toMatchObject({ userAgent: null, ip: null, current: false });
  });
});
