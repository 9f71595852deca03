// @ts-check
/**
 * Which addresses a guest's allow-listed name may lead to: never this host (its loopback, 0.0.0.0,
 * its own interface addresses, IPv4-mapped spellings of them), never link-local or multicast, and a
 * private range only through an entry that names the address itself.
 */
import net from 'node:net';
import os from 'node:os';

/** Addresses no name may lead to: this host, and what only this host's own network can reach. */
function neverBlockList() {
  const b = new net.BlockList();
  for (const [a, bits] of /** @type {[string, number][]} */ ([
    ['0.0.0.0', 8], // "this network": 0.0.0.0 is this host on Linux
    ['127.0.0.0', 8],
    ['169.254.0.0', 16], // link-local, cloud metadata services
    ['224.0.0.0', 4], // multicast
    ['240.0.0.0', 4], // reserved and broadcast
  ]))
    b.addSubnet(a, bits, 'ipv4');
  for (const [a, bits] of /** @type {[string, number][]} */ ([
    ['::', 96], // unspecified, loopback and the deprecated IPv4-compatible form
    ['fe80::', 10],
    ['fec0::', 10],
    ['ff00::', 8],
  ]))
    b.addSubnet(a, bits, 'ipv6');
  // IPv4-mapped addresses (::ffff:0.0.0.0 connects to this host) are checked against the IPv4 rules.
  for (const list of Object.values(os.networkInterfaces()))
    for (const i of list ?? [])
      b.addAddress(i.address.replace(/%.*$/, ''), i.family === 'IPv4' ? 'ipv4' : 'ipv6');
  return b;
}

/** Private ranges: reached only through an entry that names the IP address itself. */
function privateBlockList() {
  const b = new net.BlockList();
  for (const [a, bits] of /** @type {[string, number][]} */ ([
    ['10.0.0.0', 8],
    ['172.16.0.0', 12],
    ['192.168.0.0', 16],
    ['100.64.0.0', 10],
  ]))
    b.addSubnet(a, bits, 'ipv4');
  b.addSubnet('fc00::', 7, 'ipv6');
  return b;
}

/**
 * Why an address may not be connected to for this target, or undefined when it may.
 * @param {string} address
 * @param {{ host: string }} t
 * @param {{ never: net.BlockList, priv: net.BlockList }} lists
 */
export function addressRefusal(address, t, lists) {
  const family = net.isIP(address) === 6 ? 'ipv6' : 'ipv4';
  if (lists.never.check(address, family))
    return "this host or its local network (loopback, link-local or one of the host's own addresses)";
  if (lists.priv.check(address, family) && t.host !== address)
    return 'a private address; allow it by its IP address to reach it';
  return undefined;
}

/** Both lists, read afresh (interface addresses change with DHCP and VPNs). */
export const blockLists = () => ({ never: neverBlockList(), priv: privateBlockList() });
