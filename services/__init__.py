"""The six services of the portal; each talks to the others only over AMQP."""
