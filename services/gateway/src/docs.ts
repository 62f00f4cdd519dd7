import path from 'node:path';
import express, { type Router } from 'express';
import { openApiDocument } from '@hookpost/contracts';

const swaggerUiDir = path.dirname(require.resolve('swagger-ui-dist/package.json'));

const page = (basePath: string) => `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Hookpost API</title>
  <link rel="stylesheet" href="${basePath}/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="${basePath}/docs/assets/swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({ url: '${basePath}/openapi.json', dom_id: '#swagger-ui', deepLinking: true });
  </script>
</body>
</html>`;

/**
 * GET /openapi.json (built from the schemas ajv validates with) and GET /docs, an interactive UI for it.
 * `publicUrl` (HOOKPOST_PUBLIC_URL): the server the document names and the path the page asks under; absent,
 * each request's own scheme and host.
 */
export function docsRouter(publicUrl?: string): Router {
  const router = express.Router();
  const basePath = publicUrl ? new URL(publicUrl).pathname.replace(/\/+$/, '') : '';
  const html = page(basePath);
  router.get('/openapi.json', (req, res) => {
    res.json(openApiDocument(publicUrl ? publicUrl.replace(/\/+$/, '') : `${req.protocol}://${req.get('host') ?? 'localhost:8000'}`));
  });
  router.get('/docs', (_req, res) => {
    res.type('html').send(html);
  });
  router.use('/docs/assets', express.static(swaggerUiDir, { index: false, maxAge: '1h' }));
  return router;
}
