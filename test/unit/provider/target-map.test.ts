import { expect } from 'chai';
import type { TokenTarget } from '../../../lib/grants/token-source.js';
import { TargetMap } from '../../../lib/provider/target-map.js';

const target = (key: string): TokenTarget => ({ key, tenantId: 'tenant', scopes: [`api://${key}/.default`], resource: undefined });
const perRequest = (): TokenTarget => {
  throw new Error('targets are picked by the caller here');
};

describe('TargetMap: a state it lets go is marked retired, so that whoever kept it asks again', () => {
  it('the least recently asked-for state, once the map is full', () => {
    const map = new TargetMap(perRequest, 2);
    const a = map.forTarget(target('a'));
    const b = map.forTarget(target('b'));
    expect(map.forTarget(target('a'))).to.equal(a);
    map.forTarget(target('c'));
    expect([a.retired, b.retired]).to.deep.equal([false, true]);
    // Asked for again, the target gets a new state: the retired one is never handed out again.
    const again = map.forTarget(target('b'));
    expect(again).to.not.equal(b);
    expect(again.retired).to.equal(false);
  });

  it('every state on clear() (the provider closed)', () => {
    const map = new TargetMap(perRequest, 10);
    const states = ['a', 'b'].map((key) => map.forTarget(target(key)));
    map.clear();
    expect(states.map((s) => s.retired)).to.deep.equal([true, true]);
  });

  it('never the one state of a fixed target', () => {
    const map = new TargetMap(target('fixed'), 1);
    const state = map.for(undefined);
    map.clear();
    expect(state.retired).to.equal(false);
    expect(map.for(undefined)).to.equal(state);
  });
});
