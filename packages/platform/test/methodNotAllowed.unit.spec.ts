import express from 'express';
import { allowedMethods } from '../src/http';

describe('allowedMethods', () => {
  const app = express();
  app.get('/things', () => undefined);
  app.post('/things', () => undefined);
  app.put('/things/:id', () => undefined);
  app.delete('/things/:id', () => undefined);
  app.post('/things/:id/rotate', () => undefined);

  it('Given a path the app serves, it lists the methods of every route matching it, from the route table', () => {
    expect(allowedMethods(app, '/things')).toEqual(['GET', 'HEAD', 'OPTIONS', 'POST']);
    expect(allowedMethods(app, '/things/abc')).toEqual(['DELETE', 'OPTIONS', 'PUT']);
    expect(allowedMethods(app, '/things/abc/rotate')).toEqual(['OPTIONS', 'POST']);
  });

  it('Given a path no route matches (or a malformed escape), it lists nothing, so the request stays a 404', () => {
    expect(allowedMethods(app, '/nowhere')).toEqual([]);
    expect(allowedMethods(app, '/things/abc/def')).toEqual([]);
    expect(allowedMethods(app, '/things/%E0%A4%A')).toEqual([]);
  });
});
