import { Injectable } from '@nestjs/common';
import { InjectConnection } from '@nestjs/mongoose';
import { HealthIndicatorService } from '@nestjs/terminus';
import type { Connection } from 'mongoose';

/**
 * Sends a real `ping` command to the database. Terminus's MongooseHealthIndicator only reads the
 * driver's connection state, which stays "connected" for up to a heartbeat (10 s) after the server is
 * gone, and "disconnected" for as long after it is back.
 */
@Injectable()
export class DatabaseHealthIndicator {
  constructor(
    @InjectConnection() private readonly connection: Connection,
    private readonly healthIndicatorService: HealthIndicatorService,
  ) {}

  async ping(key: string, timeoutMs: number) {
    const indicator = this.healthIndicatorService.check(key);
    let timer: NodeJS.Timeout | undefined;
    try {
      const db = this.connection.db;
      if (!db) return indicator.down();
      await Promise.race([
        db.command({ ping: 1 }, { timeoutMS: timeoutMs }),
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('ping timed out')), timeoutMs))),
      ]);
      return indicator.up();
    } catch {
      return indicator.down();
    } finally {
      clearTimeout(timer);
    }
  }
}
