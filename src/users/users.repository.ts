import { Injectable, type OnModuleInit } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { isValidObjectId, type Model } from 'mongoose';
import { isDuplicateKey } from '../common/database/duplicate-key';
import { User } from './schemas/user.schema';

export type UserRecord = Pick<
  User,
  '_id' | 'username' | 'usernameKey' | 'passwordHash' | 'roles' | 'credentialsVersion' | 'createdAt'
>;

export class DuplicateUsernameError extends Error {
  override name = 'DuplicateUsernameError';
}

@Injectable()
export class UsersRepository implements OnModuleInit {
  constructor(@InjectModel(User.name) private readonly userModel: Model<User>) {}

  /** The unique index is what makes usernames unique, so it must exist before the first request. */
  async onModuleInit(): Promise<void> {
    await this.userModel.createIndexes();
  }

  async create(
    user: Pick<User, 'username' | 'usernameKey' | 'passwordHash' | 'roles' | 'credentialsVersion'>,
  ): Promise<UserRecord> {
    try {
      const created = await this.userModel.create(user);
      return created.toObject();
    } catch (error) {
      if (isDuplicateKey(error)) throw new DuplicateUsernameError(user.usernameKey);
      throw error;
    }
  }

  findByUsernameKey(usernameKey: string): Promise<UserRecord | null> {
    return this.userModel.findOne({ usernameKey }).lean<UserRecord>().exec();
  }

  findById(id: string): Promise<UserRecord | null> {
    if (!isValidObjectId(id)) return Promise.resolve(null);
    return this.userModel.findById(id).lean<UserRecord>().exec();
  }

  /** Replaces the hash and the credentials version in one write; false when the user does not exist. */
  async updatePassword(id: string, passwordHash: string, credentialsVersion: string): Promise<boolean> {
    if (!isValidObjectId(id)) return false;
    const result = await this.userModel.updateOne({ _id: id }, { $set: { passwordHash, credentialsVersion } }).exec();
    return result.matchedCount === 1;
  }

  /** The user's current credentials version; undefined when the user does not exist. */
  async findCredentialsVersion(id: string): Promise<string | null | undefined> {
    if (!isValidObjectId(id)) return undefined;
    const user = await this.userModel.findById(id, { credentialsVersion: 1 }).lean<UserRecord>().exec();
    return user ? (user.credentialsVersion ?? null) : undefined;
  }

  async deleteById(id: string): Promise<boolean> {
    if (!isValidObjectId(id)) return false;
    const result = await this.userModel.deleteOne({ _id: id }).exec();
    return result.deletedCount === 1;
  }

  listByCreation(): Promise<UserRecord[]> {
    return this.userModel.find().sort({ createdAt: 1, _id: 1 }).lean<UserRecord[]>().exec();
  }
}
