import { ApiProperty } from '@nestjs/swagger';

export class HealthIndicatorDto {
  @ApiProperty({ enum: ['up'], example: 'up' })
  status!: 'up';
}

export class ReadinessIndicatorsDto {
  @ApiProperty({ description: 'A ping command answered', type: HealthIndicatorDto })
  database!: HealthIndicatorDto;
}

export class ReadinessResponseDto {
  @ApiProperty({ enum: ['ok'], example: 'ok' })
  status!: 'ok';

  @ApiProperty({ type: ReadinessIndicatorsDto, example: { database: { status: 'up' } } })
  info!: ReadinessIndicatorsDto;
}

export class LivenessResponseDto {
  @ApiProperty({ enum: ['ok'], example: 'ok' })
  status!: 'ok';
}
