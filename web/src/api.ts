/**
 * The REST calls the app makes (docs/api.md). Error bodies come in two shapes while the server
 * moves to the new one: `{"error": "message"}` and `{"error": {"code", "message"}}`.
 */
export type Role = 'owner' | 'editor' | 'viewer'

export class ApiError extends Error {
  constructor (readonly status: number, message: string, readonly code: string | null = null) {
    super(message)
  }
}

/** The message (and code) of an error body in either shape. */
export function errorOf (body: unknown, status: number): ApiError {
  const error = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).error : undefined
  if (typeof error === 'string') return new ApiError(status, error)
  if (typeof error === 'object' && error !== null) {
    const { code, message } = error as Record<string, unknown>
    return new ApiError(status, typeof message === 'string' ? message : `HTTP ${status}`, typeof code === 'string' ? code : null)
  }
  return new ApiError(status, `HTTP ${status}`)
}

export async function getJson (path: string, token: string): Promise<unknown> {
  const response = await fetch(path, { headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' } })
  let body: unknown = null
  try {
    body = await response.json()
  } catch {
    body = null
  }
  if (!response.ok) throw errorOf(body, response.status)
  return body
}

const roles = new Map<string, Promise<Role>>()

/**
 * Who I am in a project (`GET /api/v1/projects/P/me`). When the server cannot say (an older
 * server without the route, or a network error), the app shows editing controls and the server,
 * which drops a viewer's updates anyway, stays the judge; a refused sign-in (401, 403) shows the
 * project read-only until the socket's close explains it.
 */
export function projectRole (project: string, token: string): Promise<Role> {
  const key = `${project}\n${token}`
  let found = roles.get(key)
  if (found === undefined) {
    found = getJson(`/api/v1/projects/${encodeURIComponent(project)}/me`, token).then((body) => {
      const role = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).role : null
      return role === 'owner' || role === 'editor' || role === 'viewer' ? role : 'editor'
    }, (error: unknown) => {
      roles.delete(key) // ask again next time
      if (error instanceof ApiError && (error.status === 401 || error.status === 403)) return 'viewer' as Role
      return 'editor' as Role
    })
    roles.set(key, found)
  }
  return found
}
