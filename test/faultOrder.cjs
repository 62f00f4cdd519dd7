/**
 * The fault tier's order (jest.config.js uses it when the fault tier runs alone, in band). The tests that
 * measure latency against a calm system go first: after a test that restarted Kafka the broker still loads its
 * group coordinators and the like for a while, and the fair-sharing test then measured the healthy endpoints'
 * p99 at 180 ms where it measures 27–46 ms first (it failed once so). The rest run in path order.
 */
const CALM_FIRST = ['endpointShare.fault.spec.ts'];

const rank = (path) => {
  const index = CALM_FIRST.findIndex((name) => path.endsWith(`/${name}`));
  return index === -1 ? CALM_FIRST.length : index;
};

class FaultOrder {
  sort(tests) {
    return [...tests].sort((a, b) => rank(a.path) - rank(b.path) || a.path.localeCompare(b.path));
  }

  cacheResults() {}
}

module.exports = FaultOrder;
