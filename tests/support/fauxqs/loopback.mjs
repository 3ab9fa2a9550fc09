// Node --import module: force every listening socket onto 127.0.0.1.
// fauxqs always calls listen({ host: "0.0.0.0" }) and has no option to change
// it; tests here may only listen on loopback. This rewrites the host given to
// net.Server.prototype.listen (object form, (port, host, ...) form, and the
// bare (port) form that would otherwise bind every address).
import net from "node:net";

const LOOPBACK = "127.0.0.1";
const original = net.Server.prototype.listen;

function isPortLike(v) {
    return typeof v === "number" || (typeof v === "string" && /^\d+$/.test(v));
}

net.Server.prototype.listen = function listen(...args) {
    const first = args[0];
    if (first !== null && typeof first === "object" && !Array.isArray(first)) {
        // listen(options[, cb]); leave pipes/handles (path, fd, _handle) alone
        if (first.path === undefined && first.fd === undefined && first._handle === undefined &&
            first.handle === undefined) {
            args[0] = { ...first, host: LOOPBACK, ipv6Only: false };
        }
    } else if (isPortLike(first) || first === undefined) {
        // listen([port[, host[, backlog]]][, cb])
        if (typeof args[1] === "string") {
            args[1] = LOOPBACK;
        } else {
            args.splice(1, 0, LOOPBACK);
        }
        if (first === undefined) {
            args[0] = 0;
        }
    }
    return original.apply(this, args);
};
