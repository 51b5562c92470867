import { describe, expect, it } from 'vitest';
import { jobPath, routeOf } from '../src/routing/routes.ts';

describe('routeOf', () => {
  it('names the list and a job’s page', () => {
    expect(routeOf('/')).toEqual({ page: 'home' });
    expect(routeOf('/index.html')).toEqual({ page: 'home' });
    const id = '6f1c2a9e-3b4d-4c5e-8f70-1a2b3c4d5e6f';
    expect(routeOf(`/jobs/${id}`)).toEqual({ page: 'job', id });
    expect(routeOf(`/jobs/${id}/`)).toEqual({ page: 'job', id });
    expect(routeOf(jobPath(id))).toEqual({ page: 'job', id });
  });

  it('passes any other id on, for the API to judge, and decodes it', () => {
    expect(routeOf('/jobs/not-a-job')).toEqual({ page: 'job', id: 'not-a-job' });
    expect(routeOf('/jobs/a%20b')).toEqual({ page: 'job', id: 'a b' });
    expect(routeOf(jobPath('a/b'))).toEqual({ page: 'job', id: 'a/b' });
  });

  it('says any other path is no page of the app', () => {
    for (const path of ['/jobs', '/jobs/', '/jobs/a/b', '/videos', '/jobs/%E0%A4%A']) {
      expect(routeOf(path)).toEqual({ page: 'not-found', path });
    }
  });
});
