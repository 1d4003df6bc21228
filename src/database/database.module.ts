import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { databaseConfig, type DatabaseConfig } from '../config';
import { databaseConnectionOptions } from './database-connection.options';
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
      useFactory: async (config: DatabaseConfig, embedded: EmbeddedDatabaseService) =>
        databaseConnectionOptions(config, config.uri ?? (await embedded.start())),
    }),
  ],
})
export class DatabaseModule {}
