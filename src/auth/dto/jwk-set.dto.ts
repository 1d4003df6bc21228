import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { PublicJwk } from '../../crypto/access-token-signer.service';

/** One public key (RFC 7517), as services select it to verify a token's signature. */
export class JwkDto {
  @ApiProperty({ enum: ['OKP', 'EC'], example: 'OKP' })
  kty!: string;

  @ApiProperty({ enum: ['Ed25519', 'P-256'], example: 'Ed25519' })
  crv!: string;

  @ApiProperty({ description: 'The public key (base64url)', example: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' })
  x!: string;

  @ApiPropertyOptional({
    description: 'The second coordinate, for EC keys (base64url)',
    example: 'aU6ZwagT2TQHMuGtDgsf6sKdF0V9P3pUI1ayWmmnM0s',
  })
  y?: string;

  @ApiProperty({
    description: "The key's RFC 7638 thumbprint: the `kid` of the tokens it signs",
    example: 'fnhBtmqvVKhvlo9KROawHeLcoraLVDAmPaMEw0rM6pI',
  })
  kid!: string;

  @ApiProperty({ enum: ['EdDSA', 'ES256'], example: 'EdDSA' })
  alg!: string;

  @ApiProperty({ enum: ['sig'], example: 'sig' })
  use!: string;
}

export class JwkSetDto {
  @ApiProperty({
    type: [JwkDto],
    description: 'The signing key first, then retired keys whose tokens may still be valid',
    example: [
      {
        kty: 'OKP',
        crv: 'Ed25519',
        x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo',
        kid: 'fnhBtmqvVKhvlo9KROawHeLcoraLVDAmPaMEw0rM6pI',
        alg: 'EdDSA',
        use: 'sig',
      },
    ],
  })
  keys!: JwkDto[];
}

export function toJwkSet(keys: PublicJwk[]): JwkSetDto {
  return {
    keys: keys.map(({ kty, crv, x, y, kid, alg, use }) => ({
      kty: kty ?? '',
      crv: crv ?? '',
      x: x ?? '',
      ...(y === undefined ? {} : { y }),
      kid,
      alg,
      use,
    })),
  };
}
