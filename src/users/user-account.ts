/**
 * A user as the users service hands it out: what other folders may know of an account. The password
 * hash and the username key stay inside src/users; the id is a string, as it leaves the API.
 */
export interface UserAccount {
  id: string;
  /** As typed at registration. */
  username: string;
  roles: string[];
  /** Null for users stored before versions existed, and compared as such by logins and refreshes. */
  credentialsVersion: string | null;
  createdAt: Date;
}
