vcl 4.1;

# cdnctl.vcl -- the Varnish side of cdnctl's "varnish" edge (Varnish 7.1,
# varnish-modules 0.20 for xkey).  See docs/edges.md for how cdnctl drives it.
#
# Wire protocol (every control request must come from the cdnctl_control ACL;
# anyone else gets 405, and control headers are stripped from normal traffic):
#
#   PURGE <url>                           hard purge of the URL, every Vary variant
#   PURGE <url> + X-Cdnctl-Soft: 1        soft purge (ttl=0, grace/keep kept)
#   PURGE + xkey-purge: <k1 k2 ...>       purge every object tagged with a key
#                                         (+ X-Cdnctl-Soft: 1 -> xkey.softpurge)
#   BAN + X-Cdnctl-Ban-Host: <host>       lurker-friendly ban of one host,
#       or X-Cdnctl-Ban-Host-Re: <regex>  or of hosts matching a regex,
#       [+ X-Cdnctl-Ban-Url: <regex>]     narrowed to URLs (path+query) matching
#   PURGE <url> + X-Cdnctl-Block: <secs>  block the URL for <secs> seconds
#   PURGE <url> + X-Cdnctl-Unblock: 1     lift a block
#   HEAD|GET <url> + X-Cdnctl-Prefetch: 1 fetch from origin and cache (forced miss)
#   HEAD / + X-Cdnctl-Health: 1           liveness probe, answered by vcl_synth
#
# Every control answer carries X-Cdnctl-Result (and X-Cdnctl-Purged for counts)
# so cdnctl can tell "this VCL did it" from "something else answered".
#
# Blocks are cached synthetic 403 objects ("markers") kept in their own hash
# namespace ("cdnctl-block" + host + url) in Transient storage (never
# LRU-evicted).  Every client GET/HEAD first looks up its marker; a hit answers
# 403, a miss restarts the request for the normal lookup.  Markers carry no
# x-host/x-url/xkey, so bans and tag purges can never lift a block.  Blocks live
# in memory: a restart of varnishd forgets them, and cdnctl re-applies them.

import std;
import purge;
import xkey;
import var;

# A boot id, new every time this VCL is initialised (a varnishd start or a VCL load):
# the health answer carries it, so cdnctl notices a restart, which forgets blocks,
# even when the node was never seen down, and re-applies the active block rules.
sub vcl_init {
    var.global_set("cdnctl_boot", std.random(0, 1000000000) + "-" + now);
}

# The origin.  Point this at your origin or replace it with your directors.
backend origin {
    .host = "127.0.0.1";
    .port = "8000";
    .connect_timeout = 3.5s;
    .first_byte_timeout = 30s;
    .between_bytes_timeout = 10s;
}

# Who may purge, ban, block and prefetch: the hosts running cdnctl workers.
# Add their addresses or networks here, e.g. "10.0.0.0"/8;
acl cdnctl_control {
    "127.0.0.1";
    "::1";
}

sub vcl_recv {
    if (req.restarts == 0) {
        call cdnctl_sanitize;
        if (req.http.X-Cdnctl-Health) {
            return (synth(200, "cdnctl ok"));
        }
        if (req.method == "PURGE" || req.method == "BAN") {
            if (client.ip !~ cdnctl_control) {
                return (synth(405, "Not allowed"));
            }
            call cdnctl_control_recv;
        }
        if (req.http.X-Cdnctl-Prefetch) {
            if (req.method != "GET" && req.method != "HEAD") {
                return (synth(405, "Prefetch needs GET or HEAD"));
            }
            # Forced miss: fetch from the origin and replace the cached copy.
            # A prefetch is not subject to blocks (it only fills the cache).
            set req.http.X-Cdnctl-Phase = "prefetch";
            set req.hash_always_miss = true;
            return (hash);
        }
        if (req.method == "GET" || req.method == "HEAD") {
            # First pass: look for a block marker (see vcl_hash/vcl_hit/vcl_miss).
            set req.http.X-Cdnctl-Phase = "block-check";
            set req.hash_ignore_busy = true;
            return (hash);
        }
    }
    if (req.http.X-Cdnctl-Phase == "block-purge") {
        # Second pass of a block: drop the normal object (all variants).
        set req.hash_always_miss = false;
        return (hash);
    }
    if (req.http.X-Cdnctl-Phase == "normal") {
        # No block marker: carry on as an ordinary request.
        set req.hash_ignore_busy = false;
    }
    # Site-specific request handling goes here; then the built-in vcl_recv.
}

# Strip anything a client could use to steer the control logic.
sub cdnctl_sanitize {
    unset req.http.X-Cdnctl-Phase;
    unset req.http.X-Cdnctl-Purged;
    unset req.http.X-Cdnctl-Ban;
    if (client.ip !~ cdnctl_control) {
        unset req.http.X-Cdnctl-Health;
        unset req.http.X-Cdnctl-Prefetch;
        unset req.http.X-Cdnctl-Soft;
        unset req.http.X-Cdnctl-Block;
        unset req.http.X-Cdnctl-Unblock;
        unset req.http.X-Cdnctl-Ban-Host;
        unset req.http.X-Cdnctl-Ban-Host-Re;
        unset req.http.X-Cdnctl-Ban-Url;
        unset req.http.xkey-purge;
    }
    if (req.http.host) {
        # One cache key per site whatever the spelling: lower case, no default port.
        set req.http.host = std.tolower(regsub(req.http.host, "\.?(:(80|443))?$", ""));
    }
}

# PURGE and BAN from the ACL.  Every branch ends in return().
sub cdnctl_control_recv {
    if (req.method == "BAN") {
        call cdnctl_ban;
    }
    if (req.http.xkey-purge) {
        if (req.http.X-Cdnctl-Soft) {
            set req.http.X-Cdnctl-Purged = xkey.softpurge(req.http.xkey-purge);
        } else {
            set req.http.X-Cdnctl-Purged = xkey.purge(req.http.xkey-purge);
        }
        return (synth(200, "Tag purged"));
    }
    if (req.http.X-Cdnctl-Block) {
        if (req.http.X-Cdnctl-Block !~ "^[1-9][0-9]{0,9}$") {
            return (synth(400, "X-Cdnctl-Block must be a number of seconds"));
        }
        # First pass: (re)create the marker; vcl_deliver restarts into block-purge.
        set req.http.X-Cdnctl-Phase = "block-set";
        set req.hash_always_miss = true;
        return (hash);
    }
    if (req.http.X-Cdnctl-Unblock) {
        set req.http.X-Cdnctl-Phase = "unblock";
        return (hash);
    }
    set req.http.X-Cdnctl-Phase = "purge";
    return (hash);
}

# Lurker-friendly bans: only obj.* conditions, always scoped to a host, never
# matching block markers.  std.ban() splits its argument on white space and
# keeps quotes literally, so values are written bare and may contain neither
# white space nor quotes (cdnctl sends \x20 and \x22 inside regexes instead).
sub cdnctl_ban {
    if (req.http.X-Cdnctl-Ban-Host) {
        if (req.http.X-Cdnctl-Ban-Host !~ "^[a-z0-9_.-]+$") {
            return (synth(400, "Bad X-Cdnctl-Ban-Host"));
        }
        set req.http.X-Cdnctl-Ban = "obj.http.x-host == " + req.http.X-Cdnctl-Ban-Host;
    } else if (req.http.X-Cdnctl-Ban-Host-Re) {
        if (req.http.X-Cdnctl-Ban-Host-Re ~ {"[\s"]"}) {
            return (synth(400, "Bad X-Cdnctl-Ban-Host-Re"));
        }
        set req.http.X-Cdnctl-Ban = "obj.http.x-host ~ " + req.http.X-Cdnctl-Ban-Host-Re;
    } else {
        return (synth(400, "BAN needs X-Cdnctl-Ban-Host or X-Cdnctl-Ban-Host-Re"));
    }
    if (req.http.X-Cdnctl-Ban-Url) {
        if (req.http.X-Cdnctl-Ban-Url ~ {"[\s"]"}) {
            return (synth(400, "Bad X-Cdnctl-Ban-Url"));
        }
        set req.http.X-Cdnctl-Ban = req.http.X-Cdnctl-Ban +
            " && obj.http.x-url ~ " + req.http.X-Cdnctl-Ban-Url;
    }
    set req.http.X-Cdnctl-Ban = req.http.X-Cdnctl-Ban + " && obj.http.x-cdnctl-block != 1";
    if (std.ban(req.http.X-Cdnctl-Ban)) {
        return (synth(200, "Banned"));
    }
    return (synth(400, "Ban refused: " + std.ban_error()));
}

sub vcl_hash {
    if (req.http.X-Cdnctl-Phase == "block-check" ||
        req.http.X-Cdnctl-Phase == "block-set" ||
        req.http.X-Cdnctl-Phase == "unblock") {
        # The block marker namespace: exactly this host and URL (path + query).
        hash_data("cdnctl-block");
        hash_data(req.http.host);
        hash_data(req.url);
        return (lookup);
    }
    # Everything else: the built-in hash (URL + Host).
}

sub vcl_hit {
    if (req.http.X-Cdnctl-Phase == "block-check") {
        if (obj.ttl > 0s) {
            return (deliver);    # the 403 marker
        }
        set req.http.X-Cdnctl-Phase = "normal";
        return (restart);
    }
    call cdnctl_purge_here;
}

sub vcl_miss {
    if (req.http.X-Cdnctl-Phase == "block-check") {
        set req.http.X-Cdnctl-Phase = "normal";
        return (restart);
    }
    call cdnctl_purge_here;
}

# purge.* act on every object (every Vary variant) under the looked-up hash.
sub cdnctl_purge_here {
    if (req.http.X-Cdnctl-Phase == "purge") {
        if (req.http.X-Cdnctl-Soft) {
            set req.http.X-Cdnctl-Purged = purge.soft();
        } else {
            set req.http.X-Cdnctl-Purged = purge.hard();
        }
        return (synth(200, "Purged"));
    }
    if (req.http.X-Cdnctl-Phase == "block-purge") {
        set req.http.X-Cdnctl-Purged = purge.hard();
        return (synth(200, "Blocked"));
    }
    if (req.http.X-Cdnctl-Phase == "unblock") {
        set req.http.X-Cdnctl-Purged = purge.hard();
        return (synth(200, "Unblocked"));
    }
}

sub vcl_backend_fetch {
    if (bereq.http.X-Cdnctl-Phase == "block-set") {
        # No origin involved: vcl_backend_error builds the marker.
        return (error(403, "Blocked"));
    }
    # Our control headers are none of the origin's business; X-Cdnctl-Prefetch
    # is kept so vcl_backend_response can see it (and the origin may log it).
    unset bereq.http.X-Cdnctl-Phase;
    unset bereq.http.X-Cdnctl-Soft;
    unset bereq.http.X-Cdnctl-Purged;
}

sub vcl_backend_response {
    # Nothing the origin sends may pose as our own metadata.
    unset beresp.http.x-cdnctl-block;
    unset beresp.http.X-Cdnctl-Error;
    # Lurker-friendly bans match on these copies of the request.
    set beresp.http.x-url = bereq.url;
    set beresp.http.x-host = regsub(bereq.http.host, ":[0-9]+$", "");
    # Cache tags: "xkey: a b" (xkey's own header) or "Cache-Tag: a,b"; every key
    # is also indexed as "<host>|<key>" so one site's tag purge spares the others,
    # and as "*.<parent>|<key>" for each parent domain up to four labels up (keeping
    # at least two labels), so a site with a wildcard domain (*.example.com) can purge
    # its tags on all its hosts without touching other sites' objects.
    if (beresp.http.Cache-Tag) {
        std.collect(beresp.http.Cache-Tag, ",");
        set beresp.http.xkey = beresp.http.xkey + " " + beresp.http.Cache-Tag;
    }
    if (beresp.http.xkey) {
        std.collect(beresp.http.xkey, " ");
        set beresp.http.xkey = regsuball(beresp.http.xkey, "[\s,]+", " ");
        set beresp.http.X-Cdnctl-Tags = beresp.http.xkey;
        set beresp.http.xkey = beresp.http.xkey + " " +
            regsuball(beresp.http.X-Cdnctl-Tags, "([^\s,]+)", beresp.http.x-host + "|\1");
        if (beresp.http.x-host ~ "^([^.]+\.){1}[^.]+\.[^.]+") {
            set beresp.http.X-Cdnctl-Up = "*." + regsub(beresp.http.x-host, "^([^.]+\.){1}", "");
            set beresp.http.xkey = beresp.http.xkey + " " +
                regsuball(beresp.http.X-Cdnctl-Tags, "([^\s,]+)", beresp.http.X-Cdnctl-Up + "|\1");
        }
        if (beresp.http.x-host ~ "^([^.]+\.){2}[^.]+\.[^.]+") {
            set beresp.http.X-Cdnctl-Up = "*." + regsub(beresp.http.x-host, "^([^.]+\.){2}", "");
            set beresp.http.xkey = beresp.http.xkey + " " +
                regsuball(beresp.http.X-Cdnctl-Tags, "([^\s,]+)", beresp.http.X-Cdnctl-Up + "|\1");
        }
        if (beresp.http.x-host ~ "^([^.]+\.){3}[^.]+\.[^.]+") {
            set beresp.http.X-Cdnctl-Up = "*." + regsub(beresp.http.x-host, "^([^.]+\.){3}", "");
            set beresp.http.xkey = beresp.http.xkey + " " +
                regsuball(beresp.http.X-Cdnctl-Tags, "([^\s,]+)", beresp.http.X-Cdnctl-Up + "|\1");
        }
        if (beresp.http.x-host ~ "^([^.]+\.){4}[^.]+\.[^.]+") {
            set beresp.http.X-Cdnctl-Up = "*." + regsub(beresp.http.x-host, "^([^.]+\.){4}", "");
            set beresp.http.xkey = beresp.http.xkey + " " +
                regsuball(beresp.http.X-Cdnctl-Tags, "([^\s,]+)", beresp.http.X-Cdnctl-Up + "|\1");
        }
        unset beresp.http.X-Cdnctl-Tags;
        unset beresp.http.X-Cdnctl-Up;
    }
    if (bereq.http.X-Cdnctl-Prefetch) {
        # Answer the prefetch only once the whole object is in the cache.
        set beresp.do_stream = false;
    }
    # Site-specific TTL rules go here; then the built-in vcl_backend_response.
}

sub vcl_backend_error {
    if (bereq.http.X-Cdnctl-Phase == "block-set") {
        set beresp.status = 403;
        set beresp.reason = "Forbidden";
        set beresp.ttl = std.duration(bereq.http.X-Cdnctl-Block + "s", 0s);
        set beresp.grace = 0s;
        set beresp.keep = 0s;
        set beresp.storage = storage.Transient;
        set beresp.http.x-cdnctl-block = "1";
        set beresp.http.Content-Type = "text/plain; charset=utf-8";
        set beresp.http.Cache-Control = "no-store";
        synthetic("Blocked" + {"
"});
        return (deliver);
    }
    # The fetch failed.  Tell "the origin timed out" from "the origin refused or
    # broke the connection": a failure at or near a timeout is a timeout.
    if (now - bereq.time >= bereq.first_byte_timeout * 0.9 ||
        now - bereq.time >= bereq.connect_timeout * 0.9) {
        set beresp.status = 504;
        set beresp.reason = "Gateway Timeout";
        set beresp.http.X-Cdnctl-Error = "origin_timeout";
    } else {
        set beresp.http.X-Cdnctl-Error = "origin_5xx";
    }
    # Then the built-in vcl_backend_error builds the error page.
}

sub vcl_deliver {
    if (req.http.X-Cdnctl-Phase == "block-set") {
        if (resp.status != 403 || !resp.http.x-cdnctl-block) {
            return (synth(500, "Block marker not created"));
        }
        set req.http.X-Cdnctl-Phase = "block-purge";
        return (restart);
    }
    if (obj.hits > 0) {
        set resp.http.X-Cache = "HIT";
    } else {
        set resp.http.X-Cache = "MISS";
    }
    if (req.http.X-Cdnctl-Phase == "prefetch") {
        set resp.http.X-Cdnctl-Result = "Prefetched";
        if (obj.uncacheable) {
            # The origin answered, but nothing was stored (no-store, private, ...).
            set resp.http.X-Cdnctl-Cacheable = "0";
        }
    } else {
        unset resp.http.X-Cdnctl-Error;
    }
    unset resp.http.x-url;
    unset resp.http.x-host;
    unset resp.http.xkey;
    unset resp.http.x-cdnctl-block;
}

sub vcl_synth {
    # Answers to control requests: plain text and the X-Cdnctl-Result marker.
    if (req.method == "PURGE" || req.method == "BAN" || req.http.X-Cdnctl-Health ||
        req.http.X-Cdnctl-Phase == "prefetch") {
        set resp.http.X-Cdnctl-Result = resp.reason;
        if (req.http.X-Cdnctl-Health) {
            set resp.http.X-Cdnctl-Boot = var.global_get("cdnctl_boot");
        }
        if (req.http.X-Cdnctl-Purged) {
            set resp.http.X-Cdnctl-Purged = req.http.X-Cdnctl-Purged;
        }
        set resp.http.Content-Type = "text/plain; charset=utf-8";
        set resp.body = resp.reason + {"
"};
        return (deliver);
    }
}
