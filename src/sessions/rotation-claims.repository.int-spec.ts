import { RotationClaimsRepository } from './rotation-claims.repository';
import { RefreshRotation, RefreshRotationSchema } from './schemas/refresh-rotation.schema';
import { repositoryTestModule, type RepositoryTestModule } from '../../test/support/repository-test-module';

const SESSION_ID = '6650f0c2a1b2c3d4e5f60719';
const NOW = new Date('2030-01-01T12:00:00.000Z');

describe(RotationClaimsRepository.name, () => {
  let db: RepositoryTestModule;
  let sut: RotationClaimsRepository;

  beforeAll(async () => {
    db = await repositoryTestModule(
      'rotationclaims',
      [{ name: RefreshRotation.name, schema: RefreshRotationSchema }],
      [RotationClaimsRepository],
    );
    sut = db.module.get(RotationClaimsRepository);
  });

  afterAll(() => db.close());

  describe('claim', () => {
    it('lets exactly one of many concurrent claims of a generation win; the others learn when it was claimed', async () => {
      const attempts = await Promise.all(
        Array.from({ length: 8 }, (_, index) => sut.claim(SESSION_ID, 0, new Date(NOW.getTime() + index))),
      );

      const winners = attempts.filter((attempt) => attempt.won);
      expect(winners).toHaveLength(1);
      const claimedAt = (await db.connection
        .db!.collection('refresh_rotations')
        .findOne({ _id: `${SESSION_ID}:0` as never }))!.claimedAt as Date;
      for (const attempt of attempts.filter((each) => !each.won)) expect(attempt).toEqual({ won: false, claimedAt });
    });

    it('claims each generation separately', async () => {
      await expect(sut.claim(SESSION_ID, 1, NOW)).resolves.toEqual({ won: true });
      await expect(sut.claim(SESSION_ID, 2, NOW)).resolves.toEqual({ won: true });
      await expect(sut.claim(SESSION_ID, 1, NOW)).resolves.toEqual({ won: false, claimedAt: NOW });
    });
  });

  describe('deleteClaimedUpTo', () => {
    it('removes claims up to the cutoff and keeps later ones', async () => {
      const otherSession = '6650f0c2a1b2c3d4e5f60799';
      await sut.claim(otherSession, 0, new Date(NOW.getTime() - 2 * 86_400_000));
      await sut.claim(otherSession, 1, NOW);

      await sut.deleteClaimedUpTo(new Date(NOW.getTime() - 86_400_000));

      await expect(sut.claim(otherSession, 0, NOW)).resolves.toEqual({ won: true });
      await expect(sut.claim(otherSession, 1, NOW)).resolves.toEqual({ won: false, claimedAt: NOW });
    });
  });
});
