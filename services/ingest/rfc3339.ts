const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):?(\d{2}))$/;

/**
 * Milliseconds since the epoch of an RFC 3339 time (Alertmanager's startsAt), or undefined if the
 * text is not one. Fields out of range carry over (as a civil-date calculation does): the intake only
 * compares these instants, it never shows them.
 */
export function rfc3339Ms(text: string): number | undefined {
  const match = RFC3339.exec(text);
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second, fraction, zulu, sign, offsetHours, offsetMinutes] =
    match.map((part) => part ?? '');
  const date = new Date(0);
  date.setUTCFullYear(Number(year), Number(month) - 1, Number(day));
  date.setUTCHours(Number(hour), Number(minute), Number(second), 0);
  let ms = date.getTime() + (fraction ? Math.floor(Number(`0.${fraction}`) * 1000) : 0);
  if (!zulu) {
    const offset = (Number(offsetHours) * 60 + Number(offsetMinutes)) * 60_000;
    ms = sign === '+' ? ms - offset : ms + offset;
  }
  return ms;
}
