/** True for text of printable ASCII plus tab, newline and carriage return (shown as is). */
export function isPrintable(text: string): boolean {
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (!(c === 9 || c === 10 || c === 13 || (c >= 32 && c <= 126))) return false;
  }
  return true;
}
