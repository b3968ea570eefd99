"""The plumbing every loopback fake shares; what a vendor says stays in that vendor's fake.

server.LoopbackServer   start/stop/with on 127.0.0.1, a daemon thread, ``base_url``
handler.FakeHandler     reads a request, hands it to the fake, writes its Reply
reply.Reply             status, payload (JSON, bytes or nothing) and headers; DROP
routes.Routes           "GET orders/{order_id}.json" patterns to handlers
faults.Faults           queued and standing faults; FaultInjection: inject/inject_always
requests_log.RequestLog what the fake was asked (Recorded), with where() and reset()
clock.VirtualClock      seconds that move only when slept; wall_clock() for datetimes
limits.Spacing          a minimum interval between admitted calls
"""
