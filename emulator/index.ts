/** The in-process WorkOS API emulator: model, HTTP server, fault injection and scenarios. */
export type { ExpectedCertificate } from './certificates.ts';
export type { ClockReading } from './clock.ts';
export { MAX_CLOCK_OFFSET_MS } from './clock.ts';
export { UnknownConnectionError } from './connection-book.ts';
export type { CreateConnectionInput } from './connection-factory.ts';
export type { DeletedConnection, ListConnectionsParams } from './connection-store.ts';
export type { EmulatorEnvironment, EnvironmentOptions } from './environments.ts';
export { ENVIRONMENT_NAME_RULE, EnvironmentError } from './environments.ts';
export { EmulatorRequestError, InvalidParameterError, NotFoundError, UnknownCursorError } from './errors.ts';
export type {
  EmittedEvent,
  EmittedEventType,
  EventBody,
  EventListBody,
  ListEventsParams,
  RawEvent,
} from './event-log.ts';
export { MAX_VISIBILITY_DELAY_MS } from './event-log.ts';
export type { EventOptions, When } from './event-options.ts';
export type { Fault, FaultKind, FaultPath, FaultRule } from './faults.ts';
export { FaultInjector } from './faults.ts';
export { DEFAULT_ENVIRONMENT, environmentTag, IdGenerator } from './ids.ts';
export { WorkosModel } from './model.ts';
export type { WorkosModelOptions } from './model-parts.ts';
export { UnknownOrganizationError } from './organization-book.ts';
export { UnknownOrganizationDomainError } from './organization-domain-book.ts';
export type {
  CreateOrganizationInput,
  OrganizationDomainInput,
  OrganizationDomainOptions,
} from './organization-factory.ts';
export type {
  OrganizationScenarioOptions,
  OrganizationScenarioSummary,
  OrganizationStep,
} from './organization-scenario.ts';
export { generateOrganizationScenario, ORGANIZATION_STEPS } from './organization-scenario.ts';
export type { DeletedOrganization, ListOrganizationsParams } from './organization-store.ts';
export type { ConnectionType } from './payloads.ts';
export { daysUntilExpiry, isSamlType } from './payloads.ts';
export { Random } from './random.ts';
export type { ScenarioOptions, ScenarioSummary } from './scenario.ts';
export { generateScenario } from './scenario.ts';
export { startEmulator } from './server.ts';
export type { Emulator, RecordedRequest, StartEmulatorOptions } from './server-api.ts';
export { fillSigningCerts } from './signing-cert-pems.ts';
export type {
  RawSigningCertificate,
  SigningCertificate,
  SigningCertificateInput,
} from './signing-certs.ts';
export type { WebhookAttempt, WebhookDeliveryRecord, WebhookDeliveryState } from './webhook-delivery-log.ts';
export type { EmulatorWebhooks } from './webhook-dispatcher.ts';
export type { WebhookEndpoint, WebhookEndpointOptions } from './webhook-endpoint.ts';
export { WEBHOOK_DEFAULTS, WebhookEndpointError } from './webhook-endpoint.ts';
export { WEBHOOK_SIGNATURE_HEADER, webhookBody, webhookSignature } from './webhook-signing.ts';
