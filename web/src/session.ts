/**
 * Who is signed in: the token, kept in localStorage. `?token=` in the address signs in too (in
 * development the server accepts any name as a token), and is then removed from the address bar
 * so that it is not shared by copying the link.
 */
const KEY = 'storyarn.token'

type Listener = (token: string | null) => void
const listeners = new Set<Listener>()

function readStored (): string | null {
  try {
    return localStorage.getItem(KEY)
  } catch {
    return null
  }
}

let current: string | null = readStored()

export function adoptTokenFromUrl (): void {
  const url = new URL(location.href)
  const token = url.searchParams.get('token')
  if (token !== null && token.trim() !== '') {
    setToken(token.trim())
    url.searchParams.delete('token')
    history.replaceState(null, '', url.pathname + url.search + url.hash)
  }
}

export function getToken (): string | null {
  return current
}

export function setToken (token: string | null): void {
  current = token
  try {
    if (token === null) localStorage.removeItem(KEY)
    else localStorage.setItem(KEY, token)
  } catch {
    // Private browsing may refuse storage: the token then lives for this tab only.
  }
  for (const listener of listeners) listener(token)
}

export function onTokenChange (listener: Listener): () => void {
  listeners.add(listener)
  return () => listeners.delete(listener)
}

/** A display name: a JWT's `name` or `sub`, else the token itself (development names). */
export function displayName (token: string | null): string {
  if (token === null) return 'anonymous'
  const parts = token.split('.')
  if (parts.length === 3) {
    try {
      const payload = JSON.parse(atob(parts[1].replace(/-/g, '+').replace(/_/g, '/'))) as Record<string, unknown>
      const name = payload.name ?? payload.sub
      if (typeof name === 'string' && name !== '') return name
    } catch {
      // not a JWT after all
    }
  }
  return token.length > 32 ? token.slice(0, 32) + '…' : token
}

/** A stable colour per name, dark enough for white text (WCAG AA, 4.5:1). */
export function colorFor (name: string): string {
  let hash = 0
  for (const ch of name) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0
  const hue = hash % 360
  return `hsl(${hue} 70% 26%)` // 26%: even yellow-green hues reach 4.5:1 with white
}
