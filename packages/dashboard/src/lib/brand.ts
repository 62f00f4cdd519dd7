/**
 * The operator's branding (HOOKPOST_UI_BRAND_NAME, _LOGO_URL, _ACCENT_COLOR), which the gateway writes into
 * index.html as a JSON block, so the first paint already has it.
 */
export type Brand = { name: string; logoUrl: string | null; accentColor: string | null };

function read(): Brand {
  const fallback: Brand = { name: 'Hookpost', logoUrl: null, accentColor: null };
  const element = document.getElementById('hookpost-config');
  if (!element?.textContent) return fallback;
  try {
    const parsed = JSON.parse(element.textContent) as { brand?: Partial<Brand> };
    return { ...fallback, ...parsed.brand };
  } catch {
    return fallback;
  }
}

export const brand = read();

export function applyBrand(): void {
  if (brand.accentColor) document.documentElement.style.setProperty('--accent', brand.accentColor);
}
