import { Router, type Request, type RequestHandler } from 'express';
import { validateAppPortalAccessIn, type AppPortalAccessIn, type ApplicationState } from '@hookpost/contracts';
import { applicationScopeOf, BadRequest, NotFound, ValidationFailed, type AppTokens, type ApplicationScopeDeps, type RedisTokenDenylist } from '@hookpost/platform';

/** Svix's default and longest app-portal token life (AppPortalAccessIn.expiry). */
const DEFAULT_PORTAL_EXPIRY_SECONDS = 604_800;

export type AuthDeps = {
  /** Application-scoped credentials, checked before the admin keys on every request (applicationScoped.ts). */
  scopes: ApplicationScopeDeps;
  tokens: Pick<AppTokens, 'issue'>;
  denylist: Pick<RedisTokenDenylist, 'revoke'>;
  /** The live application a path names by id or uid; 404 when none. */
  application: (text: string) => Promise<ApplicationState>;
  /** HOOKPOST_PUBLIC_URL; without it a portal URL starts with the request's own scheme and host. */
  publicUrl: string | undefined;
  now: () => number;
};

function portalBase(req: Request, publicUrl: string | undefined): string {
  return publicUrl ?? `${req.protocol}://${req.get('host') ?? 'localhost'}`;
}

/**
 * Svix's `auth` operations (`/api/v1/auth/…`). app-portal-access is for admin keys only (an application token
 * never reaches it: applicationScope.ts answers 404); it answers a token scoped to the application and the URL
 * of the portal page with it (the page itself comes in a later issue). logout revokes the token it is called with.
 */
export function authRoutes(deps: AuthDeps, body: RequestHandler[], router: Router = Router()): Router {
  router.post('/auth/app-portal-access/:app', ...body, async (req, res) => {
    if (applicationScopeOf(res)) throw new NotFound(`No route for ${req.method} ${req.path}.`);
    // (every field is optional: no body at all asks for the defaults)
    const checked = validateAppPortalAccessIn(req.body ?? {});
    if (!checked.ok) throw new ValidationFailed(checked.fields ?? []);
    const input = req.body as AppPortalAccessIn;
    // (`application`, which asks Svix to create a missing application, is accepted; a missing one is 404 here)
    const app = await deps.application(String(req.params.app));
    const token = deps.tokens.issue(
      {
        app: app.id,
        expiresInSeconds: input.expiry ?? DEFAULT_PORTAL_EXPIRY_SECONDS,
        readOnly: input.readOnly === true,
        ...(input.capabilities ? { capabilities: input.capabilities } : {}),
        ...(input.sessionId ? { sessionId: input.sessionId } : {}),
        ...(input.featureFlags ? { featureFlags: input.featureFlags } : {}),
      },
      deps.now(),
    );
    res.json({ url: `${portalBase(req, deps.publicUrl)}/portal/#token=${token}`, token });
  });

  router.post('/auth/logout', ...body, async (_req, res) => {
    const scope = applicationScopeOf(res);
    if (!scope?.token) throw new BadRequest('Only an application token issued by auth/app-portal-access can be logged out.');
    await deps.denylist.revoke(scope.token.presented, scope.token.expiresAt, deps.now());
    res.status(204).end();
  });

  return router;
}
