// serve_conn.h: noticing that the client of a waiting request went away (so its job is
// cancelled). cpp-httplib 0.11 hands a handler no socket and no "connection closed" test, so the
// socket is found by its address pair, which is unique while the handler runs.
#pragma once

#include <string>

namespace pangu_draw::serve {

// The descriptor of the open TCP connection local_addr:local_port <-> remote_addr:remote_port,
// or -1 when none is found (then no disconnect is noticed).
int connection_fd(const std::string& local_addr, int local_port, const std::string& remote_addr,
                  int remote_port);

// True when the peer closed (or reset) the connection: an orderly close reads as end of file,
// a reset as an error; data it sent meanwhile (a pipelined request) does not count.
bool peer_closed(int fd);

}  // namespace pangu_draw::serve
