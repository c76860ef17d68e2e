"""eventcast: a network event emitter.

Nodes on a LAN exchange named events with arguments through the API of
Node's EventEmitter (``on``, ``once``, ``off``, ``emit``), carried by UDP
multicast: no broker, no server, no configuration beyond a port. This
package runs the Rust core (PyO3); it speaks with the ``eventcast``
command line, the Rust library and every other binding.

    import eventcast

    with eventcast.Eventcast(port=41234) as node:
        @node.on("greet")
        def greet(who):
            print("hello", who)

        node.emit("greet", "world")

Arguments travel as BSON, converted in Rust: ``dict`` (document, key
order kept), ``list``/``tuple`` (array, back as ``list``), ``str``,
``int`` (int32 or int64; larger raises `OverflowError`), ``float``,
``bool``, ``None``, ``datetime`` (date, in milliseconds: an aware one is
converted to UTC, a *naive one is taken as UTC*; dates come back as aware
UTC datetimes), ``re.Pattern`` (regex with its i/m/s/x flags) and
``bytes``/``bytearray``/``memoryview`` (binary, back as ``bytes``).
Anything else raises `TypeError` at ``emit`` and nothing is sent. BSON
types without a Python counterpart that other nodes send (ObjectId,
Decimal128, ...) arrive as their Extended JSON dict (``{"$oid": ...}``).
"""

from ._core import QueueFull
from ._event import Event
from ._node import Eventcast
from ._subscription import Subscription

__all__ = ["Event", "Eventcast", "QueueFull", "Subscription"]
__version__ = "0.1.0"
