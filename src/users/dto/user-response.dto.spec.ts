import { ALICE_ACCOUNT, ALICE_ID } from '../testing/users.fixture';
import { toUserResponse } from './user-response.dto';

describe(toUserResponse.name, () => {
  it('answers exactly id, username, roles and createdAt, with the id and the date as strings', () => {
    expect(toUserResponse(ALICE_ACCOUNT)).toStrictEqual({
      id: ALICE_ID,
      username: 'Alice',
      roles: ['user'],
      createdAt: '2030-01-01T00:00:00.000Z',
    });
  });

  it('copies the roles, so the response cannot alter the account', () => {
    const response = toUserResponse(ALICE_ACCOUNT);

    response.roles.push('admin');

    expect(ALICE_ACCOUNT.roles).toEqual(['user']);
  });
});
