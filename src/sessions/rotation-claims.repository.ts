import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { Model } from 'mongoose';
import { isDuplicateKey } from '../common/database/duplicate-key';
import { RefreshRotation } from './schemas/refresh-rotation.schema';

export type RotationClaim = { won: true } | { won: false; claimedAt: Date };

/** The refresh_rotations collection: one claim per (session, generation), won by a single insert. */
@Injectable()
export class RotationClaimsRepository {
  constructor(@InjectModel(RefreshRotation.name) private readonly rotationModel: Model<RefreshRotation>) {}

  /** Claims rotating `generation` of the session; when another request holds it, says since when. */
  async claim(sessionId: string, generation: number, now: Date): Promise<RotationClaim> {
    const _id = `${sessionId}:${generation}`;
    try {
      await this.rotationModel.create({ _id, claimedAt: now });
      return { won: true };
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
      const claim = await this.rotationModel.findById(_id).lean<RefreshRotation>().exec();
      return { won: false, claimedAt: claim?.claimedAt ?? now };
    }
  }

  /** A claim only matters while its rotation is in flight. */
  async deleteClaimedUpTo(cutoff: Date): Promise<void> {
    await this.rotationModel.deleteMany({ claimedAt: { $lte: cutoff } }).exec();
  }
}
