import { jsonShapeProblem, textProblem } from '../src/http';

describe('text the read model can store', () => {
  it('takes well-formed text, including characters outside the BMP written as surrogate pairs', () => {
    expect(textProblem('')).toBeUndefined();
    expect(textProblem('billing-events')).toBeUndefined();
    expect(textProblem('caf\u00e9 \u{1F600} \ud83d\ude00 \ufffd')).toBeUndefined();
  });

  it('refuses U+0000 and lone UTF-16 surrogates, high or low, anywhere in the string', () => {
    expect(textProblem('nul\u0000name')).toBe('nul');
    expect(textProblem('\ud800')).toBe('ill-formed');
    expect(textProblem('a\udc00b')).toBe('ill-formed');
    expect(textProblem('pair reversed \ude00\ud83d')).toBe('ill-formed');
    expect(textProblem(JSON.parse('"\\ud800"') as string)).toBe('ill-formed');
  });
});

describe('jsonShapeProblem', () => {
  it('finds an ill-formed string or key at any depth, in objects and arrays', () => {
    expect(jsonShapeProblem(JSON.parse('{"name":"\\ud800"}'))).toBe('ill-formed');
    expect(jsonShapeProblem(JSON.parse('{"\\udfff":1}'))).toBe('ill-formed');
    expect(jsonShapeProblem(JSON.parse('{"a":[{"b":["ok","\\ud834"]}]}'))).toBe('ill-formed');
    expect(jsonShapeProblem(JSON.parse('"\\ud800"'))).toBe('ill-formed');
    expect(jsonShapeProblem({ a: ['x', { 'k\u0000': 1 }] })).toBe('nul');
  });

  it('takes well-formed JSON values of every type', () => {
    expect(jsonShapeProblem(JSON.parse('{"emoji":"\\ud83d\\ude00","n":1,"b":true,"z":null,"list":[1,"two",{}]}'))).toBeUndefined();
    expect(jsonShapeProblem(42)).toBeUndefined();
    expect(jsonShapeProblem(null)).toBeUndefined();
  });

  it('refuses nesting deeper than 32 levels', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 40; i += 1) deep = [deep];
    expect(jsonShapeProblem(deep)).toBe('depth');
  });
});
