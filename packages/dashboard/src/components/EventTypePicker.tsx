import { useQuery } from '@tanstack/react-query';
import { hookpost } from '../api/hookpost';

/** Event types from the catalogue as checkboxes; none checked means every type. */
export function EventTypePicker({ value, onChange, legend = 'Event types (none checked: every type)' }: { value: string[]; onChange: (next: string[]) => void; legend?: string }) {
  const types = useQuery({ queryKey: ['event-types'], queryFn: () => hookpost.eventTypes() });
  const live = (types.data?.data ?? []).filter((type) => !type.archived);
  const toggle = (name: string, checked: boolean) => onChange(checked ? [...value, name] : value.filter((item) => item !== name));
  return (
    <fieldset className="picker">
      <legend>{legend}</legend>
      {live.length === 0 && <span className="muted">The catalogue is empty: create event types first.</span>}
      {live.map((type) => (
        <label key={type.name} className="check">
          <input type="checkbox" checked={value.includes(type.name)} onChange={(event) => toggle(type.name, event.target.checked)} />
          {type.name}
        </label>
      ))}
    </fieldset>
  );
}
