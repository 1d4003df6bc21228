import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { databaseConfig, type DatabaseConfig } from '../config';
import { EmbeddedDatabaseService } from './embedded/embedded-database.service';

@Module({
  providers: [EmbeddedDatabaseService],
  exports: [EmbeddedDatabaseService],
})
class EmbeddedDatabaseModule {}

@Module({
  imports: [
    MongooseModule.forRootAsync({
      imports: [EmbeddedDatabaseModule],
      inject: [databaseConfig.KEY, EmbeddedDatabaseService],
      useFactory: async (config: DatabaseConfig, embedded: EmbeddedDatabaseService) => ({
        uri: config.uri ?? (await embedded.start()),
        dbName: config.dbName,
        // Fail fast instead of queueing: a request that needs an unreachable database gets 503 within
        // a few seconds, and the driver keeps reconnecting in the background.
        serverSelectionTimeoutMS: config.serverSelectionTimeoutMs,
        bufferCommands: false,
        autoIndex: true,
      }),
    }),
  ],
})
export class DatabaseModule {}
