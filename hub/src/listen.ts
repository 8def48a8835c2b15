/**
 * Connections waiting to be accepted, for the hub's HTTP listener and the embedded broker's: the
 * kernel's limit (net.core.somaxconn, 4096 on current kernels) rather than Node's 511. Thousands of
 * sites reconnect at once after a hub restart or a long pause of its event loop (signing a wave);
 * with a short queue the kernel drops their SYNs and each drop costs an agent 1 s, 3 s, 7 s... of
 * retransmission (10,000 simulated sites kept it full).
 */
export const LISTEN_BACKLOG = 4096;
