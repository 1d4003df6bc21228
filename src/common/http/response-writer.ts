import { Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { serialize, type CookieSerializeOptions } from 'cookie';

/** A response object of whichever adapter serves the request (Express `Response`, Fastify `FastifyReply`). */
export type HttpResponse = object;

export interface CookieAttributes {
  httpOnly: boolean;
  secure: boolean;
  sameSite: 'strict' | 'lax';
  path: string;
}

/** Cleared cookies get an expiry in the past, as Express's clearCookie writes it. */
const EPOCH = new Date(0);

/**
 * The one seam through which the application writes headers and cookies, on either adapter. Headers
 * go through Nest's HttpAdapter; cookies are serialised here (the `cookie` package, which Express and
 * @fastify/cookie both use) and appended as Set-Cookie, so that both adapters send the same bytes.
 */
@Injectable()
export class ResponseWriter {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  setHeader(res: HttpResponse, name: string, value: string): void {
    this.adapterHost.httpAdapter.setHeader(res, name, value);
  }

  setCookie(res: HttpResponse, name: string, value: string, attributes: CookieAttributes, maxAgeMs: number): void {
    this.appendCookie(res, name, value, {
      ...attributes,
      // Both, as Express writes them: Max-Age for current browsers, Expires for old ones.
      maxAge: Math.floor(maxAgeMs / 1000),
      expires: new Date(Date.now() + maxAgeMs),
    });
  }

  /** Clears with the attributes the cookie was set with, or the browser keeps it. */
  clearCookie(res: HttpResponse, name: string, attributes: CookieAttributes): void {
    this.appendCookie(res, name, '', { ...attributes, expires: EPOCH });
  }

  private appendCookie(res: HttpResponse, name: string, value: string, options: CookieSerializeOptions): void {
    const adapter = this.adapterHost.httpAdapter;
    if (!adapter.appendHeader) throw new Error('The HTTP adapter cannot append headers');
    adapter.appendHeader(res, 'Set-Cookie', serialize(name, value, options));
  }
}
