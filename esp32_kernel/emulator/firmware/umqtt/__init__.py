# umqtt, the board's frozen package: an MQTT 3.1.1 client (simple) and its reconnecting kind (robust).
