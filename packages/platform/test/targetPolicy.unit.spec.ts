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

  // IPv6 forms that carry an IPv4 address are judged by it: a private one inside is refused, a public one passes.
  describe.each([
    // 6to4: 2002:<IPv4>::/48
    ['6to4', '2002:0a00:0001::1', 'private (6to4)', '2002:0808:0808::1'],
    ['6to4 loopback', '2002:7f00:0001:1::5', 'loopback (6to4)', '2002:5db8:d822::1'],
    // Teredo: 2001:0:<server IPv4>:<flags>:<port>:<client IPv4 XOR ffff:ffff> (RFC 4380's server 65.54.227.120)
    ['Teredo client', '2001:0:4136:e378:8000:63bf:f5ff:fffe', 'private (Teredo client)', '2001:0:4136:e378:8000:63bf:f7f7:f7f7'],
    ['Teredo client metadata', '2001:0:4136:e378:8000:63bf:5601:5601', 'cloud metadata (Teredo client)', '2001:0:4136:e378:8000:63bf:a247:27dd'],
    ['Teredo server', '2001:0:a00:1:8000:63bf:f7f7:f7f7', 'private (Teredo server)', '2001:0:4136:e378:0:0:f7f7:f7f7'],
    // NAT64, the well-known prefix and the local-use one in its /96 layout
    ['NAT64', '64:ff9b::10.0.0.1', 'private (NAT64)', '64:ff9b::8.8.8.8'],
    ['NAT64 hex', '64:ff9b::a9fe:a9fe', 'cloud metadata (NAT64)', '64:ff9b::808:808'],
    ['NAT64 local-use', '64:ff9b:1::192.168.0.1', 'private (NAT64 local-use)', '64:ff9b:1::8.8.8.8'],
    ['IPv4-mapped', '::ffff:172.16.5.4', 'private (IPv4-mapped)', '::ffff:1.1.1.1'],
    ['IPv4-translated', '::ffff:0:10.0.0.1', 'private (IPv4-translated)', '::ffff:0:8.8.8.8'],
    ['IPv4-compatible', '::10.0.0.1', 'private (IPv4-compatible)', '::8.8.8.8'],
    ['IPv4-compatible hex', '::a9fe:a9fe', 'cloud metadata (IPv4-compatible)', '::808:808'],
  ])('%s', (_form, privateInside, category, publicInside) => {
    it(`refuses ${privateInside} as ${category}`, () => {
      expect(refusedCategory(privateInside)).toBe(category);
      expect(policy.refusal(privateInside)).toBe(`${privateInside} is ${category}`);
      expect(policy.literalRefusal(`http://[${privateInside}]:8080/hook`)).toContain(category);
    });
    it(`allows ${publicInside}`, () => {
      expect(refusedCategory(publicInside)).toBeUndefined();
      expect(policy.literalRefusal(`https://[${publicInside}]/hook`)).toBeUndefined();
    });
  });

  it.each([
    ['64:ff9b:1:ab::1', 'not a readable IPv4 address (NAT64 local-use)'], // local-use NAT64 in a layout other than /96
    ['2001::1', 'reserved (Teredo client)'], // client 255.255.255.254
    ['4000::1', 'reserved (outside global unicast 2000::/3)'],
    ['::2:3:4:5', 'reserved (outside global unicast 2000::/3)'],
    ['2001:db8::1', 'documentation'],
    ['3fff::1', 'documentation'],
    ['100::1', 'discard-only'],
    ['2001:2::1', 'benchmarking'],
    ['192.0.2.1', 'documentation'],
    ['192.175.48.1', 'AS112 anycast'],
  ])('refuses %s, outside public unicast (%s)', (address, category) => {
    expect(refusedCategory(address)).toBe(category);
  });

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

  it('binds an allowlist entry to one port when it names one', () => {
    const receiverOnly = new TargetPolicy(['127.0.0.1/32:9999', '::1/128:9999', '[fd00::7]:8443', '10.1.0.0/16']);
    expect(receiverOnly.refusal('127.0.0.1', 9999)).toBeUndefined();
    expect(receiverOnly.refusal('127.0.0.1', 8001)).toContain('loopback');
    expect(receiverOnly.refusal('127.0.0.1')).toContain('loopback'); // port unknown: bound entries do not apply
    expect(receiverOnly.refusal('127.0.0.2', 9999)).toContain('loopback');
    expect(receiverOnly.refusal('::1', 9999)).toBeUndefined();
    expect(receiverOnly.refusal('fd00::7', 8443)).toBeUndefined();
    expect(receiverOnly.refusal('fd00::7', 443)).toContain('unique local');
    expect(receiverOnly.refusal('10.1.2.3', 22)).toBeUndefined(); // an entry without a port allows every port
    expect([...receiverOnly.namedPorts].sort()).toEqual([8443, 9999]);
    expect(receiverOnly.literalRefusal('http://127.0.0.1:9999/webhook')).toBeUndefined();
    expect(receiverOnly.literalRefusal('http://127.0.0.1:2375/containers/json')).toContain('loopback');
    expect(receiverOnly.literalRefusal('http://127.0.0.1/')).toContain('loopback'); // port 80
    expect(new TargetPolicy(['127.0.0.1:443']).literalRefusal('https://127.0.0.1/')).toBeUndefined();
  });

  it('does not read an allowlisted IPv4 range into its IPv6 forms', () => {
    const local = new TargetPolicy(['127.0.0.0/8']);
    expect(local.refusal('::ffff:127.0.0.1')).toContain('loopback (IPv4-mapped)');
    expect(local.refusal('2002:7f00:1::1')).toContain('loopback (6to4)');
  });

  it.each(['127.0.0.1:0', '127.0.0.1:65536', '127.0.0.1/32:', '127.0.0.1/32:http', '127.1/8', 'fe80::1%eth0/64', '[::1]/128:99999'])(
    'refuses the malformed allowlist entry %j',
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
