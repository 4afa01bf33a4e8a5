"""The floor for a Python HTTP/1.1 server on one core: an asyncio Protocol that
does the least any server must do per request and nothing else.

It finds the end of each request head, answers a request without a body with
the same pre-built bytes (/plaintext), and one with a Content-Length body
with that body (/echo). No header parsing, no validation, no Date, no routing,
no app call. A real server cannot be faster than this on the same loop, so
heron's figure over this one is how close it comes to the limit.

    python3 floor_server.py PORT [asyncio|uvloop]

Copied unchanged in behaviour from the team's shared bench harness
(../shared/bench/apps/floor_server.py).
"""
import asyncio
import sys

PLAIN = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
         b"Content-Length: 13\r\n\r\nHello, World!")


class Limit(asyncio.Protocol):
    def connection_made(self, transport):
        self.t = transport
        self.buf = b""

    def data_received(self, data):
        buf = self.buf + data if self.buf else data
        out = []
        while True:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                break
            head = buf[:end]
            i = head.find(b"ontent-Length: ")
            if i < 0:
                i = head.find(b"ontent-length: ")
            if i >= 0:
                j = head.find(b"\r", i)
                n = int(head[i + 15:j if j > 0 else None])
                if len(buf) < end + 4 + n:
                    break  # wait for the whole body
                body = buf[end + 4:end + 4 + n]
                buf = buf[end + 4 + n:]
                out.append(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                           b"Content-Length: " + str(n).encode() + b"\r\n\r\n" + body)
            else:
                buf = buf[end + 4:]
                out.append(PLAIN)
            if head.find(b"onnection: close") >= 0:
                self.t.write(b"".join(out))
                self.t.close()
                return
        self.buf = buf
        if out:
            self.t.write(b"".join(out))


def main():
    port = int(sys.argv[1])
    if len(sys.argv) > 2 and sys.argv[2] == "uvloop":
        import uvloop
        uvloop.install()

    async def serve():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Limit, "127.0.0.1", port, backlog=1024)
        async with server:
            await server.serve_forever()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
