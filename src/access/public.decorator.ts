import { applyDecorators, SetMetadata } from '@nestjs/common';
import { DECORATORS } from '@nestjs/swagger';

export const IS_PUBLIC_KEY = 'auth:public';

/**
 * Opens a route that the global guard would otherwise protect, and documents it as needing no
 * credentials (`security: []` in the OpenAPI document), so that code and docs cannot disagree.
 */
export const Public = () => applyDecorators(SetMetadata(IS_PUBLIC_KEY, true), ApiNoSecurity());

/**
 * `security: []` on a handler's operation, or on every operation of a controller. On a handler it is
 * merged into @ApiOperation's metadata, which merges in turn, so the decorators' order does not matter.
 * (An empty @ApiSecurity list on a handler would be dropped from the document as empty.)
 */
function ApiNoSecurity(): ClassDecorator & MethodDecorator {
  return (target: object, _key?: string | symbol, descriptor?: PropertyDescriptor) => {
    if (descriptor) {
      const operation: object | undefined = Reflect.getMetadata(DECORATORS.API_OPERATION, descriptor.value);
      Reflect.defineMetadata(DECORATORS.API_OPERATION, { ...operation, security: [] }, descriptor.value);
      return;
    }
    Reflect.defineMetadata(DECORATORS.API_SECURITY, [], target);
  };
}
