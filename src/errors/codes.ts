/**
 * The one table of AWS error codes (spec §4.5, 18 codes) plus the three codes of the
 * unsigned entitlement endpoint (§4.6 / data-plane.md). Everything that fails a request
 * names a code from here; the renderer in src/http/error-renderer.ts turns it into bytes.
 */
export interface ErrorCodeInfo {
  readonly status: number;
  readonly retryable: boolean;
  readonly defaultMessage: string;
}

export const API_ERROR_CODES = {
  ValidationException: { status: 400, retryable: false, defaultMessage: 'The request is not valid.' },
  SerializationException: { status: 400, retryable: false, defaultMessage: 'The request body is not a parseable JSON object.' },
  IncompleteSignatureException: { status: 400, retryable: false, defaultMessage: 'The request signature is incomplete or malformed.' },
  RequestExpired: { status: 400, retryable: false, defaultMessage: 'The request timestamp is more than 15 minutes from the server time.' },
  MissingAuthenticationTokenException: { status: 403, retryable: false, defaultMessage: 'Missing Authentication Token.' },
  UnrecognizedClientException: { status: 403, retryable: false, defaultMessage: 'The security token included in the request is invalid.' },
  InvalidSignatureException: { status: 403, retryable: false, defaultMessage: 'The request signature we calculated does not match the signature you provided.' },
  AccessDeniedException: { status: 403, retryable: false, defaultMessage: 'You are not authorized to perform this action.' },
  ResourceNotFoundException: { status: 404, retryable: false, defaultMessage: 'The requested resource does not exist.' },
  MethodNotAllowedException: { status: 405, retryable: false, defaultMessage: 'The method is not allowed on this resource.' },
  ConflictException: { status: 409, retryable: false, defaultMessage: 'The state of the resource does not allow this operation.' },
  LengthRequiredException: { status: 411, retryable: false, defaultMessage: 'A Content-Length header is required.' },
  RequestEntityTooLargeException: { status: 413, retryable: false, defaultMessage: 'The request body is larger than 65536 bytes.' },
  UnsupportedMediaTypeException: { status: 415, retryable: false, defaultMessage: 'The Content-Type must be a JSON media type.' },
  ThrottlingException: { status: 429, retryable: true, defaultMessage: 'Rate exceeded.' },
  LimitExceededException: { status: 429, retryable: true, defaultMessage: 'The application has no available session capacity.' },
  InternalFailure: { status: 500, retryable: true, defaultMessage: 'The request processing has failed because of an unknown error.' },
  ServiceUnavailableException: { status: 503, retryable: true, defaultMessage: 'The service is unavailable. Try again later.' },
} as const satisfies Record<string, ErrorCodeInfo>;

/** Codes of the unsigned entitlement/stream endpoints; same body shape, outside the 18. */
export const ENTITLEMENT_ERROR_CODES = {
  EntitlementNotFoundException: { status: 404, retryable: false, defaultMessage: 'The entitlement URL is not known.' },
  EntitlementExpiredException: { status: 410, retryable: false, defaultMessage: 'The entitlement URL has already been used or has expired.' },
  NoAvailableInstanceException: { status: 503, retryable: true, defaultMessage: 'All streaming slots are currently in use.' },
  InvalidConnectTokenException: { status: 401, retryable: false, defaultMessage: 'The connect token is missing or not valid.' },
} as const satisfies Record<string, ErrorCodeInfo>;

export type ApiErrorCode = keyof typeof API_ERROR_CODES;
export type EntitlementErrorCode = keyof typeof ENTITLEMENT_ERROR_CODES;
export type ErrorCode = ApiErrorCode | EntitlementErrorCode;

export const ERROR_CODES: Readonly<Record<ErrorCode, ErrorCodeInfo>> = {
  ...API_ERROR_CODES,
  ...ENTITLEMENT_ERROR_CODES,
};

export const ERROR_TYPE_PREFIX = 'com.amazonaws.appstream#';
