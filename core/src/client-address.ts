/**
 * Who a caller without an API key is, for limits: its address, with IPv6 counted per /64. A
 * subscriber (a home, a server, a cloud instance) is given a whole /64 and can send from any of
 * its 2^64 addresses, so counting each address apart would give it unlimited identities; one
 * IPv4 address is what an IPv4 subscriber has. Pure.
 */
import ipaddr from 'ipaddr.js';

/**
 * The identity of a client address: an IPv4 address as it is, an IPv6 address as its /64
 * (`2001:db8:1:2::/64`), an IPv4 address written as IPv6 (`::ffff:198.51.100.7`, a dual-stack
 * socket's) as the IPv4 address. Anything that is not an address is returned unchanged.
 */
export function addressIdentity(address: string): string {
  if (!ipaddr.isValid(address)) return address;
  const parsed = ipaddr.process(address);
  if (parsed.kind() === 'ipv4') return parsed.toString();
  const parts = (parsed as ipaddr.IPv6).parts.slice(0, 4);
  const network = ipaddr.IPv6.parse(`${parts.map((part) => part.toString(16)).join(':')}::`);
  return `${network.toString()}/64`;
}
