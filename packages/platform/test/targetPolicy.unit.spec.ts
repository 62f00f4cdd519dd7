import { refusedCategory, TargetPolicy } from '../src/targetPolicy';

// Classification only: nothing here opens a connection.
describe('target address policy (SSRF)', () => {
  const policy = new TargetPolicy([]);

  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'cloud metadata'],
    ['169.254.10.10', 'link-local'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['100.127.255.255', 'carrier-grade NAT'],
    ['0.0.0.0', 'unspecified ("this network")'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['198.18.0.1', 'benchmarking'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fc00::1', 'unique local (ULA)'],
    ['fd12:3456:789a::1', 'unique local (ULA)'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback (IPv4-mapped)'],
    ['::ffff:7f00:1', 'loopback (IPv4-mapped)'],
    ['::ffff:169.254.169.254', 'cloud metadata (IPv4-mapped)'],
    ['::ffff:10.0.0.1', 'private (IPv4-mapped)'],
    ['0:0:0:0:0:ffff:c0a8:0101', 'private (IPv4-mapped)'],
    ['64:ff9b::127.0.0.1', 'loopback (NAT64)'],
    ['::127.0.0.1', 'loopback (IPv4-compatible)'],
  ])('refuses %s (%s)', (address, category) => {
    expect(refusedCategory(address)).toBe(category);
    expect(policy.refusal(address)).toContain(category);
  });

  it.each(['93.184.216.34', '8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2606:4700::1111', '2001:4860:4860::8888', '::ffff:8.8.8.8'])(
    'allows the public address %s',
    (address) => {
      expect(refusedCategory(address)).toBeUndefined();
      expect(policy.refusal(address)).toBeUndefined();
    },
  );

  it.each([
    ['http://127.0.0.1/', 'loopback'],
    ['http://2130706433/', 'loopback'], // decimal
    ['http://0x7f000001/', 'loopback'], // hex
    ['http://0177.0.0.1/', 'loopback'], // octal
    ['http://0x7f.1/', 'loopback'], // mixed short form
    ['http://127.1/', 'loopback'],
    ['http://[::1]:8080/hook', 'loopback'],
    ['http://[::ffff:127.0.0.1]/', 'loopback (IPv4-mapped)'],
    ['http://[::ffff:a9fe:a9fe]/latest/meta-data', 'cloud metadata (IPv4-mapped)'],
    ['http://169.254.169.254/latest/meta-data', 'cloud metadata'],
    ['https://0251.0376.0251.0376/', 'cloud metadata'], // octal metadata
    ['http://0/', 'unspecified ("this network")'],
    ['http://[fd00::1]/', 'unique local (ULA)'],
  ])('sees through the literal %s', (url, category) => {
    expect(policy.literalRefusal(url)).toContain(category);
  });

  it('leaves host names to be checked when they resolve', () => {
    expect(policy.literalRefusal('http://localhost:8080/')).toBeUndefined();
    expect(policy.literalRefusal('https://example.com/hook')).toBeUndefined();
  });

  it('lets an allowlist of CIDRs through, and only those', () => {
    const local = new TargetPolicy(['127.0.0.0/8', '::1/128']);
    expect(local.refusal('127.0.0.1')).toBeUndefined();
    expect(local.refusal('::1')).toBeUndefined();
    expect(local.refusal('10.0.0.1')).toContain('private');
    expect(local.refusal('169.254.169.254')).toContain('cloud metadata');
    expect(new TargetPolicy(['10.20.0.0/16']).refusal('10.20.3.4')).toBeUndefined();
    expect(new TargetPolicy(['10.20.0.0/16']).refusal('10.21.3.4')).toContain('private');
  });

  it.each(['10.0.0.0/', '10.0.0.0/abc', '10.0.0.0/33', '::1/129', '10.0.0.0/8/8', 'example.com/8', ''])(
    'refuses the allowlist entry %j at start rather than widen or break deliveries later',
    (entry) => {
      expect(() => new TargetPolicy([entry])).toThrow('not a CIDR');
    },
  );

  it('takes an entry without a prefix as one address', () => {
    const one = new TargetPolicy(['10.0.0.7']);
    expect(one.refusal('10.0.0.7')).toBeUndefined();
    expect(one.refusal('10.0.0.8')).toContain('private');
  });
});
