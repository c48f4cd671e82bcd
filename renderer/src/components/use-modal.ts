// A <dialog> shown as a modal while `open` holds (a page without showModal, as in tests'
// DOMs, gets the open attribute), with `onOpen` run each time it opens.
import { useEffect, type RefObject } from 'react';

export function useModal(ref: RefObject<HTMLDialogElement | null>, open: boolean, onOpen: () => void): void {
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) {
      if (typeof d.showModal === 'function') d.showModal();
      else d.setAttribute('open', '');
      onOpen();
    } else if (!open && d.open) d.close();
    // onOpen is read when the dialog opens; a new one each render must not reopen it
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [open]);
}
