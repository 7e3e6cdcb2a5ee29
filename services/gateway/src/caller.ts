import { ForbiddenError, type JobView, type UrlPolicy } from '@ffleet/core';
import type { FastifyRequest } from 'fastify';

/**
 * What a request's token may touch. A token scoped to prefixes reads, writes and presigns only
 * under them (every URL of a job, batch, manifest and upload is parsed with this policy) and
 * sees only the jobs it submitted; an unscoped token, or an API without tokens, sees the fleet.
 */
export function urlPolicyOf(request: FastifyRequest): UrlPolicy {
  const policy = request.server.fleetConfig.urlPolicy;
  const prefixes = request.caller?.prefixes;
  return prefixes ? { ...policy, allowedPrefixes: prefixes } : policy;
}

/** The name recorded on the jobs this request submits. */
export function ownerOf(request: FastifyRequest): string | undefined {
  return request.caller?.name;
}

/** The `owner` a scoped token's listing is limited to; undefined lists every job. */
export function listedOwner(request: FastifyRequest): string | undefined {
  return request.caller?.prefixes ? request.caller.name : undefined;
}

/** Throws a 403 when a scoped token asks for a job (or batch) another token submitted. */
export function checkOwner(request: FastifyRequest, view: Pick<JobView, 'id' | 'owner'>, what = 'job'): void {
  const owner = listedOwner(request);
  if (owner !== undefined && view.owner !== owner) {
    throw new ForbiddenError(`${what} ${view.id} was not submitted by this token`, { id: view.id });
  }
}
