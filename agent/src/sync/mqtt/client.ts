/** The MQTT client library the agent uses, for tools outside this package (bench/notify.ts's light sites). */
export { connect } from "mqtt";
export type { MqttClient } from "mqtt";
