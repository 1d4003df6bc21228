import { Injectable } from '@nestjs/common';

/** The wall clock behind an injectable, so that tests can move the time the app counts windows in. */
@Injectable()
export class Clock {
  now(): number {
    return Date.now();
  }
}
