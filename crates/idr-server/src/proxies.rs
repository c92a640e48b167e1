//! `--trusted-proxies`: who a request is from when a proxy (a load balancer) connects for
//! it. The connection's address is the proxy's, so every client would share one rate-limit
//! bucket. A proxy that is trusted says who it connected for in `X-Forwarded-For`, adding
//! its own client's address at the end; that header is read right to left, past the
//! trusted proxies, and the first address that is not one of them is the client. What a
//! client wrote to the left of that (a forged header, passed on by the proxy) is never
//! read, and from any other peer the header is ignored, so no client can choose its
//! address.
//!
//! Only `X-Forwarded-For` is read, the header every common proxy writes (nginx's
//! `$proxy_add_x_forwarded_for`, HAProxy's `option forwardfor`, cloud load balancers).
//! Reading `Forwarded` too would let a client choose its address through a proxy that
//! passes that header on untouched.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::ConnectInfo;
use axum::http::{Extensions, HeaderMap};
use ipnet::IpNet;

/// The addresses (single addresses or CIDR ranges) whose `X-Forwarded-For` is believed.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Arc<[IpNet]>);

/// The most `X-Forwarded-For` entries read (a longer chain of proxies is not a real one).
const MAX_HOPS: usize = 32;

impl TrustedProxies {
    /// Parses `10.0.0.0/8`, `127.0.0.1`, `2001:db8::/32`, … (empty items are skipped).
    pub fn parse(values: &[String]) -> Result<TrustedProxies, String> {
        let mut nets = Vec::new();
        for value in values.iter().map(|v| v.trim()).filter(|v| !v.is_empty()) {
            let net = match value.parse::<IpNet>() {
                Ok(net) => canonical(net.trunc()),
                Err(_) => match value.parse::<IpAddr>() {
                    Ok(ip) => IpNet::from(ip.to_canonical()),
                    Err(_) => {
                        return Err(format!(
                            "{value:?} is not an address or a CIDR range (like 10.0.0.0/8)"
                        ))
                    }
                },
            };
            nets.push(net);
        }
        Ok(TrustedProxies(nets.into()))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` is a trusted proxy (an IPv4 address also as IPv6-mapped).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client of a request that arrived from `peer` with `headers`: `peer` itself,
    /// unless it is a trusted proxy; then the nearest address in `X-Forwarded-For` that
    /// is not one. An entry that is not an address stops the walk at the proxy that
    /// passed it on; a chain of trusted proxies only is the first of them.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.contains(peer) {
            return peer;
        }
        let lines: Vec<_> = headers.get_all("x-forwarded-for").iter().collect();
        let mut client = peer;
        let mut read = 0;
        // Entry by entry, as bytes: what a client wrote to the left (whatever its bytes)
        // is never reached while a proxy's entry comes after it.
        for line in lines.into_iter().rev() {
            for hop in line.as_bytes().rsplit(|b| *b == b',') {
                read += 1;
                let hop = std::str::from_utf8(hop).ok().filter(|_| read <= MAX_HOPS);
                let Some(ip) = hop.and_then(|hop| parse_hop(hop.trim())) else {
                    return client;
                };
                client = ip;
                if !self.contains(ip) {
                    return ip;
                }
            }
        }
        client
    }
}

/// An IPv4 range written as IPv6 (`::ffff:10.0.0.0/104`) as the IPv4 range it is, since
/// addresses are compared in their canonical form.
fn canonical(net: IpNet) -> IpNet {
    match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.network().to_ipv4_mapped() {
            Some(v4) => ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96).map_or(net, IpNet::V4),
            None => net,
        },
        _ => net,
    }
}

/// One `X-Forwarded-For` entry: an address, with or without a port (`[v6]:port`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Ok(socket) = hop.parse::<SocketAddr>() {
        return Some(socket.ip().to_canonical());
    }
    let bracketed = hop.strip_prefix('[')?.strip_suffix(']')?;
    bracketed.parse::<std::net::Ipv6Addr>().ok().map(|ip| IpAddr::V6(ip).to_canonical())
}

/// The client a request is from, as `listen` found it ([`TrustedProxies::client`]).
#[derive(Clone, Copy, Debug)]
pub struct ClientIp(pub IpAddr);

/// The client of a request: what `listen` found, or the peer of the connection (a router
/// served some other way).
pub(crate) fn client_ip(extensions: &Extensions) -> Option<IpAddr> {
    extensions
        .get::<ClientIp>()
        .map(|c| c.0)
        .or_else(|| extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()))
}
